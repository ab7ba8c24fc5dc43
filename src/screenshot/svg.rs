//! A ratatui buffer as an SVG picture: one rectangle per background run and one text run per
//! foreground style, on a fixed monospace grid. Deterministic (same buffer, same bytes), so
//! screenshots only change when the screen does.

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// Cell geometry in pixels (DejaVu Sans Mono at 14px advances 8.43px).
pub const CELL_W: f64 = 8.43;
pub const CELL_H: f64 = 17.0;
const FONT_SIZE: f64 = 14.0;

/// Colours for `Color::Reset`: the terminal's own foreground and background.
#[derive(Debug, Clone, Copy)]
pub struct TerminalColors {
    pub fg: (u8, u8, u8),
    pub bg: (u8, u8, u8),
}

impl Default for TerminalColors {
    fn default() -> Self {
        TerminalColors {
            fg: (0xd8, 0xde, 0xe9),
            bg: (0x1b, 0x1f, 0x27),
        }
    }
}

pub fn buffer_to_svg(buf: &Buffer, term: TerminalColors) -> String {
    let area = buf.area;
    let width = f64::from(area.width) * CELL_W;
    let height = f64::from(area.height) * CELL_H;
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.2} {height:.2}">"#
    );
    let _ = write!(
        out,
        r#"<style>text{{font-family:'DejaVu Sans Mono','Noto Sans Mono',monospace;font-size:{FONT_SIZE}px;white-space:pre}}.b{{font-weight:bold}}.i{{font-style:italic}}.u{{text-decoration:underline}}.d{{opacity:0.6}}</style>"#
    );
    let _ = write!(
        out,
        r#"<rect width="100%" height="100%" fill="{}"/>"#,
        hex(term.bg)
    );
    for y in 0..area.height {
        let row_y = f64::from(y) * CELL_H;
        // Backgrounds: runs of equal colour.
        let mut x = 0;
        while x < area.width {
            let (_, bg, _) = style_of(buf, area.x + x, area.y + y, term);
            let start = x;
            while x < area.width && style_of(buf, area.x + x, area.y + y, term).1 == bg {
                x += 1;
            }
            if bg != term.bg {
                let _ = write!(
                    out,
                    r#"<rect x="{:.2}" y="{row_y:.2}" width="{:.2}" height="{CELL_H}" fill="{}"/>"#,
                    f64::from(start) * CELL_W,
                    f64::from(x - start) * CELL_W,
                    hex(bg)
                );
            }
        }
        // Text: runs of equal foreground and modifiers; blanks end a run so spacing stays exact.
        let mut x = 0;
        while x < area.width {
            let cell = &buf[(area.x + x, area.y + y)];
            if cell.symbol().trim().is_empty() {
                x += 1;
                continue;
            }
            let (fg, _, mods) = style_of(buf, area.x + x, area.y + y, term);
            let start = x;
            let mut text = String::new();
            while x < area.width {
                let c = &buf[(area.x + x, area.y + y)];
                let (f, _, m) = style_of(buf, area.x + x, area.y + y, term);
                if f != fg
                    || m != mods
                    || c.symbol().trim().is_empty()
                        && x > start
                        && next_blank(buf, area.x + x, area.y + y)
                {
                    break;
                }
                text.push_str(if c.symbol().is_empty() {
                    " "
                } else {
                    c.symbol()
                });
                x += 1;
            }
            let class = classes(mods);
            let _ = write!(
                out,
                r#"<text x="{:.2}" y="{:.2}" fill="{}"{class} textLength="{:.2}" lengthAdjust="spacingAndGlyphs">{}</text>"#,
                f64::from(start) * CELL_W,
                row_y + CELL_H * 0.78,
                hex(fg),
                f64::from(x - start) * CELL_W,
                escape(&text)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Two blanks in a row end a text run (one blank inside a phrase keeps it together).
fn next_blank(buf: &Buffer, x: u16, y: u16) -> bool {
    let area = buf.area;
    x + 1 >= area.x + area.width || buf[(x + 1, y)].symbol().trim().is_empty()
}

type Rgb = (u8, u8, u8);

fn style_of(buf: &Buffer, x: u16, y: u16, term: TerminalColors) -> (Rgb, Rgb, Modifier) {
    let cell = &buf[(x, y)];
    let mut fg = rgb(cell.fg, term.fg);
    let mut bg = rgb(cell.bg, term.bg);
    if cell.modifier.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    let mods =
        cell.modifier & (Modifier::BOLD | Modifier::ITALIC | Modifier::UNDERLINED | Modifier::DIM);
    (fg, bg, mods)
}

fn classes(m: Modifier) -> String {
    let mut c = Vec::new();
    if m.contains(Modifier::BOLD) {
        c.push("b");
    }
    if m.contains(Modifier::ITALIC) {
        c.push("i");
    }
    if m.contains(Modifier::UNDERLINED) {
        c.push("u");
    }
    if m.contains(Modifier::DIM) {
        c.push("d");
    }
    if c.is_empty() {
        String::new()
    } else {
        format!(r#" class="{}""#, c.join(" "))
    }
}

/// xterm's default 16-colour palette.
const ANSI: [Rgb; 16] = [
    (0, 0, 0),
    (205, 49, 49),
    (13, 188, 121),
    (229, 229, 16),
    (36, 114, 200),
    (188, 63, 188),
    (17, 168, 205),
    (229, 229, 229),
    (102, 102, 102),
    (241, 76, 76),
    (35, 209, 139),
    (245, 245, 67),
    (59, 142, 234),
    (214, 112, 214),
    (41, 184, 219),
    (255, 255, 255),
];

pub fn rgb(color: Color, reset: Rgb) -> Rgb {
    match color {
        Color::Reset => reset,
        Color::Black => ANSI[0],
        Color::Red => ANSI[1],
        Color::Green => ANSI[2],
        Color::Yellow => ANSI[3],
        Color::Blue => ANSI[4],
        Color::Magenta => ANSI[5],
        Color::Cyan => ANSI[6],
        Color::Gray => ANSI[7],
        Color::DarkGray => ANSI[8],
        Color::LightRed => ANSI[9],
        Color::LightGreen => ANSI[10],
        Color::LightYellow => ANSI[11],
        Color::LightBlue => ANSI[12],
        Color::LightMagenta => ANSI[13],
        Color::LightCyan => ANSI[14],
        Color::White => ANSI[15],
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) => indexed(i),
    }
}

fn indexed(i: u8) -> Rgb {
    match i {
        0..=15 => ANSI[i as usize],
        16..=231 => {
            let n = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(n / 36), level(n / 6 % 6), level(n % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

fn hex((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn renders_runs_with_colours() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 2));
        buf.set_string(0, 0, "ok  <fail>", Style::default().fg(Color::Green));
        buf.set_string(
            0,
            1,
            "x",
            Style::default()
                .bg(Color::Rgb(1, 2, 3))
                .add_modifier(Modifier::BOLD),
        );
        let svg = buffer_to_svg(&buf, TerminalColors::default());
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains(r##"fill="#0dbc79""##), "green text: {svg}");
        assert!(svg.contains("&lt;fail&gt;"), "escaped: {svg}");
        assert!(svg.contains(r##"fill="#010203""##), "background run: {svg}");
        assert!(svg.contains(r#"class="b""#), "bold: {svg}");
        assert_eq!(indexed(196), (255, 0, 0));
        assert_eq!(indexed(244), (128, 128, 128));
        assert_eq!(
            svg,
            buffer_to_svg(&buf, TerminalColors::default()),
            "deterministic"
        );
    }
}
