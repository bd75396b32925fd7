// Checks the dashboards against Grafana's published dashboard schema.
//
//   node check_schema.mjs <dashboards dir>     (from a directory where
//                                              `npm ci` installed package.json)
//
// @grafana/schema is the TypeScript form of Grafana's dashboard schema (the
// "classic" JSON model Grafana saves and imports), one package version per
// Grafana release. For each release of package.json, each dashboard becomes a
// TypeScript module in which the dashboard, every panel, every panel's options
// and field config and every variable are object literals that must satisfy
// the schema's types: the compiler then refuses a missing required field, a
// wrong type, a value outside an enumeration (a unit mode, a legend
// placement...) and any field the schema does not know. The string
// enumerations of the schema are compared by value (JSON has no enums).
// __inputs, __requires and __elements are import-only fields outside the
// schema: tests/dashboards/test_dashboard_files.py checks them.
// Prints one line per release; exits 1 on any error.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dashboardsDir = process.argv[2];
if (!dashboardsDir) {
  console.error("usage: node check_schema.mjs <dashboards dir>");
  process.exit(2);
}
const pkg = JSON.parse(fs.readFileSync(path.join(here, "package.json"), "utf8"));
const releases = Object.keys(pkg.devDependencies)
  .filter((name) => name.startsWith("grafana-schema-"))
  .map((name) => ({ name, version: pkg.devDependencies[name].split("@").pop() }));
const files = fs.readdirSync(dashboardsDir).filter((f) => f.endsWith(".json")).sort();
if (files.length === 0) {
  console.error(`no dashboards in ${dashboardsDir}`);
  process.exit(1);
}

// Panel type -> the schema module of its options and field config.
const PANEL_TYPES = {
  timeseries: "timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen",
  stat: "stat/panelcfg/x/StatPanelCfg_types.gen",
  bargauge: "bargauge/panelcfg/x/BarGaugePanelCfg_types.gen",
  "state-timeline": "statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen",
};
const IMPORT_ONLY = ["__inputs", "__requires", "__elements"];

const lit = (value) => JSON.stringify(value, null, 2);

// How a release's package exports a panel's schema module: by its own
// name (12.x and later) or through "./dist/*" (11.x, which needs the
// extension TypeScript maps to the .d.ts beside it).
function panelModule(release, mod) {
  const exportsMap = JSON.parse(fs.readFileSync(
    path.join(here, "node_modules", release.name, "package.json"), "utf8")).exports ?? {};
  const sub = `dist/esm/raw/composable/${mod}`;
  return `@grafana/schema/${sub}${exportsMap[`./${sub}`] ? "" : ".js"}`;
}

function moduleFor(release, file, dashboard) {
  const lines = [
    `// ${file} against @grafana/schema: written by check_schema.mjs`,
    `import type { Dashboard, Panel, RowPanel, VariableModel } from "@grafana/schema";`,
  ];
  const aliases = {};
  Object.entries(PANEL_TYPES).forEach(([type, mod], i) => {
    aliases[type] = `P${i}`;
    lines.push(`import type * as P${i} from "${panelModule(release, mod)}";`);
  });
  lines.push(
    // The schema's string enums as the strings JSON holds.
    "type Json<T> = T extends string ? `${T}` : T extends number | boolean | null | undefined ? T",
    "  : T extends ReadonlyArray<infer U> ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;",
  );
  const body = { ...dashboard };
  IMPORT_ONLY.forEach((k) => delete body[k]);
  lines.push(`export const dashboard = ${lit(body)} satisfies Json<Dashboard>;`);
  (dashboard.templating?.list ?? []).forEach((v, i) => {
    lines.push(`export const variable${i} = ${lit(v)} satisfies Json<VariableModel>;`);
  });
  for (const p of dashboard.panels ?? []) {
    if (p.type === "row") {
      lines.push(`export const row${p.id} = ${lit(p)} satisfies Json<RowPanel>;`);
      continue;
    }
    const alias = aliases[p.type];
    if (!alias) throw new Error(`${file}: panel ${p.id} has the type ${p.type}, not checked here`);
    lines.push(`export const panel${p.id} = ${lit(p)} satisfies Json<Panel>;`);
    lines.push(`export const options${p.id} = ${lit(p.options ?? {})} satisfies Json<${alias}.Options>;`);
    const custom = p.fieldConfig?.defaults?.custom;
    if (custom !== undefined) {
      lines.push(`export const custom${p.id} = ${lit(custom)} satisfies Json<${alias}.FieldConfig>;`);
    }
  }
  return lines.join("\n") + "\n";
}

const work = fs.mkdtempSync(path.join(here, "check-"));
const schemaLink = path.join(here, "node_modules", "@grafana", "schema");
let failed = false;
try {
  fs.writeFileSync(path.join(work, "tsconfig.json"), lit({
    compilerOptions: {
      strict: true, noEmit: true, target: "es2022", module: "esnext",
      moduleResolution: "bundler", skipLibCheck: true, types: [],
    },
    include: ["src/*.ts"],
  }));
  const tsc = path.join(here, "node_modules", "typescript", "bin", "tsc");
  fs.mkdirSync(path.dirname(schemaLink), { recursive: true });
  for (const release of releases) {
    // The schema package imports itself as "@grafana/schema": that name
    // points at the release being checked.
    fs.rmSync(schemaLink, { force: true, recursive: true });
    fs.symlinkSync(path.join("..", release.name), schemaLink, "dir");
    fs.rmSync(path.join(work, "src"), { force: true, recursive: true });
    fs.mkdirSync(path.join(work, "src"));
    for (const file of files) {
      const dashboard = JSON.parse(fs.readFileSync(path.join(dashboardsDir, file), "utf8"));
      fs.writeFileSync(path.join(work, "src", file.replace(/\.json$/, ".ts")),
                       moduleFor(release, file, dashboard));
    }
    try {
      execFileSync(process.execPath, [tsc, "-p", work], { stdio: "pipe", encoding: "utf8" });
      console.log(`@grafana/schema ${release.version}: ${files.join(" ")}: valid`);
    } catch (e) {
      failed = true;
      console.log(`@grafana/schema ${release.version}: INVALID\n${e.stdout}${e.stderr}`);
    }
  }
} finally {
  fs.rmSync(schemaLink, { force: true, recursive: true });
  if (!process.env.KEEP_TMP) fs.rmSync(work, { force: true, recursive: true });
}
process.exit(failed ? 1 : 0);
