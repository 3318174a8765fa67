// One JWT service account with VAULT_EDITOR, from Go on the generated SDK (sdk/go) and the
// native plugin, run as an Automation API inline program (no Go language host needed).
//
//	go run . up|refresh|destroy
//
// Environment: WORK_DIR, STACK (default dev), SKYFLOW_VAULT_ID and the provider's SKYFLOW_*
// settings; PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE as for any CLI run.
// LOG_VERBOSITY=9 runs the CLI with --debug -v=9 --logtostderr --logflow and copies its stderr
// here: the most verbose logs there are, and still no secret in them (docs/security.md).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/debug"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/skyflow-pulumi/skyflow-pulumi/sdk/go/skyflow"
)

func program(ctx *pulumi.Context) error {
	vaultID := os.Getenv("SKYFLOW_VAULT_ID")
	sa, err := skyflow.NewServiceAccount(ctx, "payments", &skyflow.ServiceAccountArgs{
		Name:        pulumi.String("go-payments-api"),
		Description: pulumi.String("Payments API (Go)"),
	})
	if err != nil {
		return err
	}
	editor := skyflow.LookupSystemRoleOutput(ctx, skyflow.LookupSystemRoleOutputArgs{
		VaultId: pulumi.String(vaultID), Name: skyflow.SystemRoleNameVaultEditor,
	})
	if _, err := skyflow.NewRoleAssignment(ctx, "payments-editor", &skyflow.RoleAssignmentArgs{
		RoleId:           editor.RoleId(),
		ServiceAccountId: sa.ID(),
	}); err != nil {
		return err
	}
	ctx.Export("client_id", sa.ClientId)
	ctx.Export("credentials", sa.Credentials) // a secret output
	return nil
}

func main() {
	action := "up"
	if len(os.Args) > 1 {
		action = os.Args[1]
	}
	stackName := os.Getenv("STACK")
	if stackName == "" {
		stackName = "dev"
	}
	ctx := context.Background()
	project := workspace.Project{Name: "skyflow-go", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	stack, err := auto.UpsertStackInlineSource(ctx, stackName, "skyflow-go", program,
		auto.WorkDir(os.Getenv("WORK_DIR")), auto.Project(project), auto.SecretsProvider("passphrase"))
	if err != nil {
		fail(err)
	}
	upOpts := []optup.Option{optup.ProgressStreams(os.Stdout)}
	refreshOpts := []optrefresh.Option{optrefresh.ProgressStreams(os.Stdout)}
	destroyOpts := []optdestroy.Option{optdestroy.ProgressStreams(os.Stdout)}
	if logging, ok := debugLogging(); ok {
		upOpts = append(upOpts, optup.DebugLogging(logging), optup.ErrorProgressStreams(os.Stderr))
		refreshOpts = append(refreshOpts, optrefresh.DebugLogging(logging),
			optrefresh.ErrorProgressStreams(os.Stderr))
		destroyOpts = append(destroyOpts, optdestroy.DebugLogging(logging),
			optdestroy.ErrorProgressStreams(os.Stderr))
	}
	var changes *map[string]int
	switch action {
	case "up":
		res, err := stack.Up(ctx, upOpts...)
		if err != nil {
			fail(err)
		}
		changes = res.Summary.ResourceChanges
	case "refresh":
		res, err := stack.Refresh(ctx, refreshOpts...)
		if err != nil {
			fail(err)
		}
		changes = res.Summary.ResourceChanges
	case "destroy":
		res, err := stack.Destroy(ctx, destroyOpts...)
		if err != nil {
			fail(err)
		}
		changes = res.Summary.ResourceChanges
	default:
		fail(fmt.Errorf("unknown action %s", action))
	}
	out, _ := json.Marshal(changes)
	fmt.Printf("\nSUMMARY %s\n", out)
}

// debugLogging reads LOG_VERBOSITY: a level >= 1 turns on --debug -v=<level> --logtostderr
// --logflow (the plugins log at that level too).
func debugLogging() (debug.LoggingOptions, bool) {
	level, err := strconv.ParseUint(os.Getenv("LOG_VERBOSITY"), 10, 32)
	if err != nil || level == 0 {
		return debug.LoggingOptions{}, false
	}
	v := uint(level)
	return debug.LoggingOptions{LogLevel: &v, LogToStdErr: true, FlowToPlugins: true, Debug: true}, true
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
