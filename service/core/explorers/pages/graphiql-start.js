// Starts GraphiQL (with the query explorer plugin) against the page's own URL, as Strawberry's page does;
// a file of its own so that the page's Content-Security-Policy allows no inline script.
const EXAMPLE_QUERY = `# GraphiQL: write a query on the left, run it with Ctrl-Enter or the play button.
# The documentation explorer (the book icon) lists every type and field.
{
  institutions(first: 10) {
    edges {
      node {
        code
        name { en }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

const parameters = Object.fromEntries(new URLSearchParams(window.location.search));

function updateURL(changed) {
  Object.assign(parameters, changed);
  const kept = Object.entries(parameters).filter(([, value]) => Boolean(value));
  history.replaceState(null, "", "?" + new URLSearchParams(kept).toString());
}

const graphqlFetcher = GraphiQL.createFetcher({ url: window.location.href.split("?")[0] });

// A signed-in person's token (sign-in.js) goes with every request; a header typed in the headers editor wins.
function fetcher(params, options = {}) {
  const token = window.explorerSignIn && window.explorerSignIn.accessToken();
  const headers = token ? { Authorization: "Bearer " + token, ...(options.headers || {}) } : options.headers;
  return graphqlFetcher(params, { ...options, headers });
}

function GraphiQLWithExplorer() {
  const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
  const [variables, setVariables] = React.useState(parameters.variables);
  const [headers, setHeaders] = React.useState(parameters.headers);
  const explorer = React.useMemo(() => GraphiQLPluginExplorer.explorerPlugin(), []);
  return React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    plugins: [explorer],
    query,
    variables,
    headers,
    onEditQuery: (value) => { setQuery(value); updateURL({ q: value }); },
    onEditVariables: (value) => { setVariables(value); updateURL({ variables: value }); },
    onEditHeaders: setHeaders,
    inputValueDeprecation: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  });
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQLWithExplorer));
