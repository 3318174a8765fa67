"""The Skyflow resources served as a Pulumi resource provider plugin (``pulumi-resource-skyflow``),
for Pulumi YAML, TypeScript and Go programs, ``pulumi import`` and explicit providers. A thin
adapter over the same provider classes the Python dynamic resources use; see
docs/native-provider.md."""
