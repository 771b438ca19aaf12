// PostGraphile 5's CLI serves from one process; PostGraphile 4 (--cluster-workers) and the service (uvicorn
// --workers) use every core. So this is v5's own server (postgraphile() + grafserv/node, as its CLI builds it)
// in PG5_WORKERS processes of node's cluster module, which share one listening port as v4's cluster does.
// "PostGraphile 5 ready" is printed once every process has built the schema and listens.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset from "./graphile.config.mjs";

const workers = Number(process.env.PG5_WORKERS ?? 1);
const host = process.env.PG5_HOST ?? "127.0.0.1";
const port = Number(process.env.PG5_PORT ?? 5678);

if (cluster.isPrimary && workers > 1) {
  let listening = 0;
  cluster.on("listening", () => {
    if (++listening === workers) console.log(`PostGraphile 5 ready: ${workers} workers on http://${host}:${port}`);
  });
  // A worker that dies is not replaced: the runner sees the errors, not a silently smaller server.
  cluster.on("exit", (worker, code, signal) => {
    console.error(`PostGraphile 5 worker ${worker.process.pid} exited (${signal ?? code})`);
  });
  for (let n = 0; n < workers; n++) cluster.fork();
} else {
  const serv = postgraphile(preset).createServ(grafserv);
  const server = createServer();
  await serv.addTo(server);
  server.listen({ host, port }, () => {
    if (cluster.isPrimary) console.log(`PostGraphile 5 ready: 1 process on http://${host}:${port}`);
  });
}
