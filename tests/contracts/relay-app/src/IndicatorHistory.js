// A year's revision history, a page at a time from the latest back: Relay's usePaginationFragment over
// `history`, paged backward (`last` / `before`).
import { graphql } from "react-relay";

export const indicatorHistory = graphql`
  fragment IndicatorHistory_query on Query
  @refetchable(queryName: "IndicatorHistoryPaginationQuery")
  @argumentDefinitions(
    indicatorId: { type: "ID!" }
    year: { type: "Int!" }
    last: { type: "Int", defaultValue: 2 }
    before: { type: "String" }
  ) {
    history(indicatorId: $indicatorId, year: $year, last: $last, before: $before)
      @connection(key: "IndicatorHistory_history", filters: ["indicatorId", "year"]) {
      totalCount
      edges {
        node {
          id
          revision
          text
          previousText
          status
        }
      }
    }
  }
`;

export const indicatorHistoryQuery = graphql`
  query IndicatorHistoryQuery($indicatorId: ID!, $year: Int!) {
    ...IndicatorHistory_query @arguments(indicatorId: $indicatorId, year: $year)
  }
`;
