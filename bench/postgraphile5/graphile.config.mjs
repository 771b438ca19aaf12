// PostGraphile 5 as the benchmark runs it (bench/run.py copies this folder into bench/.tools/postgraphile5,
// beside the node_modules `npm ci` installs from package-lock.json, and starts server.mjs with Node 22).
// The settings mirror PostGraphile 4's command line in run.py: the public schema, default mutations off,
// PG5_POOL_SIZE connections per worker process (the service's DB_POOL_SIZE), no GraphiQL, no query log.
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const connectionString = process.env.PG5_DATABASE_URL;
if (!connectionString) {
  throw new Error("PG5_DATABASE_URL is not set: bench/run.py passes the benchmark database's URL");
}

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  disablePlugins: [
    // v4's --disable-default-mutations: no create/update/delete mutation for every table.
    "PgMutationCreatePlugin",
    "PgMutationUpdateDeletePlugin",
    // As v4 does by default (and v5's V4 preset with ignoreIndexes): every column can order a list, not only
    // indexed ones, so the queries can ask for the service's order.
    "PgIndexBehaviorsPlugin",
  ],
  pgServices: [
    makePgService({
      connectionString,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PG5_POOL_SIZE ?? 10) },
      pubsub: false,
    }),
  ],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};

export default preset;
