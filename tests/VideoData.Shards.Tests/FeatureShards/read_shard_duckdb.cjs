// Reads a feature shard with DuckDB, independently of Parquet.Net, and prints JSON:
// {rows: [{video_id, duration, seconds, dim, features, mixed_5c_dim, mixed_5c, captions}], metadata: {key: value}}.
// Usage: node read_shard_duckdb.cjs TOOLS_NODE_MODULES SHARD.parquet
const { createRequire } = require('node:module');
const path = require('node:path');
const [toolsDir, shard] = process.argv.slice(2);
const { DuckDBInstance } = createRequire(path.join(toolsDir, 'noop.js'))('@duckdb/node-api');

(async () => {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const file = shard.replaceAll("'", "''");
  const rows = await c.runAndReadAll(
    `select video_id, duration, seconds, dim, features, mixed_5c_dim, mixed_5c, captions from read_parquet('${file}')`);
  const meta = await c.runAndReadAll(
    `select decode(key) as key, decode(value) as value from parquet_kv_metadata('${file}')`);
  const metadata = {};
  for (const m of meta.getRowObjectsJson()) metadata[m.key] = m.value;
  process.stdout.write(JSON.stringify({ rows: rows.getRowObjectsJson(), metadata }));
})().catch(e => { console.error(e); process.exit(1); });
