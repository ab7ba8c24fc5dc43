module shipdeck.test/real/crds

go 1.26.8

require (
	github.com/servicemeshinterface/smi-sdk-go v0.5.0 // indirect
	istio.io/api v1.32.0 // indirect
	sigs.k8s.io/gateway-api v1.6.3 // indirect
)
