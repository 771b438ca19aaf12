// The GraphQL over HTTP spec's audit (graphql-http's serverAudits) against the URL given as the only argument;
// prints one JSON line per audit: {id, name, status, reason?, response?} (tests/test_graphql_over_http.py reads them).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    const response = result.response;
    line.response = { status: response.status, contentType: response.headers.get('content-type'), body: await response.text() };
  }
  console.log(JSON.stringify(line));
}
