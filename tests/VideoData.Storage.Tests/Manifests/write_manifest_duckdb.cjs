// Converts a CSV manifest to Parquet with DuckDB, an independent Parquet writer.
// Usage: node write_manifest_duckdb.cjs TOOLS_NODE_MODULES IN.csv OUT.parquet
const { createRequire } = require('node:module');
const path = require('node:path');
const [toolsDir, input, output] = process.argv.slice(2);
const { DuckDBInstance } = createRequire(path.join(toolsDir, 'noop.js'))('@duckdb/node-api');

(async () => {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const q = s => s.replaceAll("'", "''");
  await c.run(`copy (select * from read_csv('${q(input)}', header = true)) to '${q(output)}' (format parquet, row_group_size 3)`);
})().catch(e => { console.error(e); process.exit(1); });
