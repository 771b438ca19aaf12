// The strategy tree a dashboard draws: areas, goals, indicators with targets, actuals and progress.
import { graphql } from "react-relay";

export const strategyTreeQuery = graphql`
  query StrategyTreeQuery {
    strategies(first: 1) {
      edges {
        node {
          id
          key
          title {
            lv
          }
          areas {
            id
            code
            kind
            ...PolicyAreaCard_area
            goals {
              id
              number
              institutions {
                id
                code
              }
              indicators {
                id
                code
                direction
                targets {
                  year
                  text
                  value
                }
                actuals {
                  id
                  year
                  text
                  status
                }
                progress {
                  year
                  status
                  ratio
                }
              }
            }
          }
        }
      }
    }
  }
`;
