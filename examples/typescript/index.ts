// The reference stack (three services with roles, a custom role with a masking policy) in
// TypeScript, on the native provider plugin (pulumi-resource-skyflow).
//
// The official Node.js language host (pulumi-language-nodejs) is not served by the Go module
// proxy, so this program runs through the Automation API's *inline program*: the CLI runs in
// --client mode against this process and needs no language host.
//
//   node bin/index.js up|preview|refresh|destroy
//
// Environment: WORK_DIR (the project dir, default ./work), STACK (default dev), NAME_PREFIX
// (default ts), SKYFLOW_VAULT_ID; the provider reads its settings from stack config or the
// SKYFLOW_* variables; PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE as for any CLI run.
// LOG_VERBOSITY=9 runs the CLI with --debug -v=9 --logtostderr --logflow and copies its stderr
// here: the most verbose logs there are, and still no secret in them (docs/security.md).
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as skyflow from "@skyflow-pulumi/skyflow";

const prefix = process.env.NAME_PREFIX ?? "ts";

// @pulumi/pulumi (3.276.0, the newest on npm) sends debug messages to the engine that hold
// values in plain text, secrets included: each RegisterResource/ReadResource/Invoke/Call
// response ("RPC finished: ...; resp: ...", the generated private keys and API keys among the
// outputs) and each serialized input ("Serialize property [...]: primitive=..."). `pulumi up
// --debug` prints them, and so does -v=9 (the engine logs every debug message at level 9). This
// keeps the messages and drops the values; copy it into your own programs (docs/security.md,
// "Debugging safely").
function keepValuesOutOfDebugMessages(): void {
    // The SDK's own module object (an ES import would be a read-only copy of it).
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const sdkLog: { debug: (msg: string, ...rest: unknown[]) => Promise<void> } =
        require("@pulumi/pulumi/log");
    const debug = sdkLog.debug;
    sdkLog.debug = (msg: string, ...rest: unknown[]) => debug(
        String(msg)
            .replace(/(RPC finished: [\s\S]*?resp: )[\s\S]*$/, "$1[response not logged]")
            .replace(/^(Serialize property \[[\s\S]*?\]: primitive=)[\s\S]*$/, "$1[value not logged]"),
        ...rest);
}
keepValuesOutOfDebugMessages();

// Skyflow's closed sets of values are enums in the SDK, checked by the compiler:
// skyflow.types.enums.AuthType ("jwt" | "api_key"), SystemRoleName ("VAULT_EDITOR" | ...).
type AuthType = skyflow.types.enums.AuthType;
type SystemRoleName = skyflow.types.enums.SystemRoleName;

interface Service {
    name: string;
    authType: AuthType;
    role: SystemRoleName | "analytics-reader";
    description: string;
}

const SERVICES: Service[] = [
    { name: "payments-api", authType: skyflow.types.enums.AuthType.Jwt, role: "VAULT_EDITOR",
      description: "Payments API: reads and writes card data" },
    { name: "analytics-etl", authType: "jwt", role: "analytics-reader",
      description: "Nightly analytics export: read-only, PII masked" },
    { name: "legacy-batch", authType: "api_key", role: "VAULT_VIEWER",
      description: "Legacy batch importer (API key)" },
];

async function program(): Promise<Record<string, pulumi.Output<unknown>>> {
    const vaultId = process.env.SKYFLOW_VAULT_ID;
    if (!vaultId) {
        throw new Error("set SKYFLOW_VAULT_ID");
    }
    const reader = new skyflow.Role("role-analytics-reader", {
        vaultId,
        name: `${prefix}-analytics-reader`,
        displayName: "Analytics reader",
        description: "Read-only access to records; PII comes back masked",
        permissions: ["vault.read", "record.read"],
    });
    const policy = new skyflow.Policy("policy-AnalyticsPiiMasked", {
        vaultId,
        name: `${prefix.replace(/[^A-Za-z0-9]/g, "")}AnalyticsPiiMasked`,
        description: "Analytics may read persons, with PII masked",
        rules: [
            { name: "ReadPersonsMasked",
              ruleExpression: "ALLOW READ ON persons.* WITH REDACTION = MASKED" },
            { name: "DenySsn", effect: "DENY", actions: ["READ"], columns: ["persons.ssn"] },
        ],
    });
    new skyflow.PolicyAssignment("policy-AnalyticsPiiMasked-roles", {
        policyId: policy.id,
        roleIds: [reader.id],
    });

    const outputs: Record<string, pulumi.Output<unknown>> = {};
    for (const svc of SERVICES) {
        const sa = new skyflow.ServiceAccount(`sa-${svc.name}`, {
            name: `${prefix}-${svc.name}`,
            authType: svc.authType,
            description: svc.description,
        });
        const roleId = svc.role === "analytics-reader"
            ? reader.id
            : skyflow.getSystemRoleOutput({ vaultId, name: svc.role }).roleId;
        new skyflow.RoleAssignment(`ra-${svc.name}`, { roleId, serviceAccountId: sa.id });
        const key = svc.name.replace(/-/g, "_");
        outputs[`${key}_client_id`] = sa.clientId;
        // Typed outputs: credentials and apiKey are secrets (marked by the SDK and the plugin).
        outputs[svc.authType === "jwt" ? `${key}_credentials` : `${key}_api_key`] =
            svc.authType === "jwt" ? sa.credentials : sa.apiKey;
    }
    return outputs;
}

async function main(): Promise<void> {
    const action = process.argv[2] ?? "up";
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: process.env.STACK ?? "dev", projectName: "skyflow-typescript", program },
        {
            workDir: process.env.WORK_DIR ?? "work",
            secretsProvider: "passphrase",
            projectSettings: { name: "skyflow-typescript", runtime: "nodejs" },
        },
    );
    const log = (text: string) => process.stdout.write(text);
    const verbosity = Number(process.env.LOG_VERBOSITY ?? "0");
    const opts = verbosity > 0
        ? { onOutput: log, onError: (text: string) => process.stderr.write(text), debug: true,
            logVerbosity: verbosity, logToStdErr: true, logFlow: true }
        : { onOutput: log };
    let changes: Record<string, number> | undefined;
    if (action === "up") {
        changes = (await stack.up(opts)).summary.resourceChanges;
    } else if (action === "preview") {
        changes = (await stack.preview(opts)).changeSummary;
    } else if (action === "refresh") {
        changes = (await stack.refresh(opts)).summary.resourceChanges;
    } else if (action === "destroy") {
        changes = (await stack.destroy(opts)).summary.resourceChanges;
    } else {
        throw new Error(`unknown action ${action}`);
    }
    process.stdout.write(`\nSUMMARY ${JSON.stringify(changes ?? {})}\n`);
}

main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
});
