module github.com/skyflow-pulumi/skyflow-pulumi/sdk/go

go 1.22

require github.com/pulumi/pulumi/sdk/v3 v3.150.0
