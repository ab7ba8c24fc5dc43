// Command prep turns upstream files from the module cache into what the real-cluster tests
// load. build.sh runs it; nothing it writes is committed.
//
//	prep smi-crd IN OUT SERVED   convert an apiextensions.k8s.io/v1beta1 CRD to v1
//	prep delay IN OUT MIN MAX    give a kwok Stage a delay of MIN..MAX milliseconds
//
// smi-crd: smi-sdk-go publishes its TrafficSplit CRD as apiextensions.k8s.io/v1beta1, which
// API servers stopped serving in 1.22. The conversion is apiextensions' own (v1beta1 ->
// internal -> v1, as the API server did while it served both): the top-level schema, printer
// columns and subresources move into each version. v1 also requires a structural schema, so a
// root schema without a type gets `type: object`, and preserveUnknownFields stays false.
// SERVED is a comma-separated list of versions to serve (upstream serves only its newest,
// v1alpha4; shipdeck and Argo Rollouts write older ones); the storage version is unchanged.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "prep:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 4 && args[0] == "smi-crd":
		return smiCRD(args[1], args[2], strings.Split(args[3], ","))
	case len(args) == 5 && args[0] == "delay":
		lo, err1 := strconv.ParseInt(args[3], 10, 64)
		hi, err2 := strconv.ParseInt(args[4], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		return delay(args[1], args[2], lo, hi)
	default:
		return errors.New("usage: prep smi-crd IN OUT SERVED | prep delay IN OUT MIN_MS MAX_MS")
	}
}

// documents splits a YAML stream into its non-empty documents.
func documents(data []byte) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) > 0 && !isOnlyComments(doc) {
			docs = append(docs, doc)
		}
	}
}

func isOnlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

func smiCRD(in, out string, served []string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	install.Install(scheme)
	// The universal deserializer neither converts nor defaults: v1beta1's defaults (such as
	// preserveUnknownFields: true) would make the v1 object invalid.
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	docs, err := documents(data)
	if err != nil {
		return err
	}
	var result bytes.Buffer
	for _, doc := range docs {
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		old, ok := obj.(*v1beta1.CustomResourceDefinition)
		if !ok {
			return fmt.Errorf("%s: expected an apiextensions.k8s.io/v1beta1 CRD, got %T", in, obj)
		}
		var internal apiextensions.CustomResourceDefinition
		if err := scheme.Convert(old, &internal, nil); err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := scheme.Convert(&internal, &crd, nil); err != nil {
			return err
		}
		crd.APIVersion = apiextensionsv1.SchemeGroupVersion.String()
		crd.Kind = "CustomResourceDefinition"
		crd.Spec.PreserveUnknownFields = false
		crd.Status = apiextensionsv1.CustomResourceDefinitionStatus{}
		for i := range crd.Spec.Versions {
			v := &crd.Spec.Versions[i]
			if slices.Contains(served, v.Name) {
				v.Served = true
			}
			// Each version gets its own copy: they were one shared pointer after conversion.
			if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
				schema := v.Schema.DeepCopy()
				if schema.OpenAPIV3Schema.Type == "" {
					schema.OpenAPIV3Schema.Type = "object"
				}
				v.Schema = schema
			}
		}
		for _, name := range served {
			if !slices.ContainsFunc(crd.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool {
				return v.Name == name
			}) {
				return fmt.Errorf("%s: %s has no version %s", in, crd.Name, name)
			}
		}
		text, err := yaml.Marshal(&crd)
		if err != nil {
			return err
		}
		fmt.Fprintf(&result, "# Converted by tests/real/tools/prep from %s (apiextensions.k8s.io/v1beta1).\n", source(in))
		result.WriteString("---\n")
		result.Write(text)
	}
	return os.WriteFile(out, result.Bytes(), 0o644)
}

// source names an input by its module path and version, not by where the module cache is.
func source(path string) string {
	if _, rest, found := strings.Cut(path, "/pkg/mod/"); found {
		return rest
	}
	return path
}

func delay(in, out string, lo, hi int64) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var stage map[string]any
	if err := yaml.Unmarshal(data, &stage); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	spec, ok := stage["spec"].(map[string]any)
	if !ok || stage["kind"] != "Stage" {
		return fmt.Errorf("%s: not a kwok Stage", in)
	}
	if _, exists := spec["delay"]; exists {
		return fmt.Errorf("%s: already has a delay; check whether it is still needed", in)
	}
	spec["delay"] = map[string]any{
		"durationMilliseconds":       lo,
		"jitterDurationMilliseconds": hi,
	}
	text, err := yaml.Marshal(stage)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# %s with a delay of %d..%d ms added by tests/real/tools/prep.\n", source(in), lo, hi)
	return os.WriteFile(out, append([]byte(header), text...), 0o644)
}
