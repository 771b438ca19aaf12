// One organisation, refreshed on its own: Relay's useRefetchableFragment, refetched by `node(id:)`.
import { graphql } from "react-relay";

export const organizationCard = graphql`
  fragment OrganizationCard_organization on Organization
  @refetchable(queryName: "OrganizationCardRefetchQuery") {
    id
    rowId
    acronym
    name {
      lv
      en
    }
    etag
    memberships {
      id
      relation
      since
      sincePrecision
      member {
        id
        code
      }
    }
  }
`;
