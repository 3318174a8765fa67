module skyflow-pulumi/tools/enginewatch

go 1.22
