// One policy area of the strategy tree, refreshed on its own: Relay's useRefetchableFragment, by `node(id:)`.
import { graphql } from "react-relay";

export const policyAreaCard = graphql`
  fragment PolicyAreaCard_area on PolicyArea
  @refetchable(queryName: "PolicyAreaCardRefetchQuery") {
    id
    rowId
    code
    title {
      lv
    }
    actionDirections {
      id
      number
      tasks {
        id
        number
      }
    }
  }
`;
