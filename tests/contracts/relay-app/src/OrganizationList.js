// The registry, a page at a time: Relay's usePaginationFragment over `organizations`.
import { graphql } from "react-relay";

export const organizationList = graphql`
  fragment OrganizationList_query on Query
  @refetchable(queryName: "OrganizationListPaginationQuery")
  @argumentDefinitions(
    first: { type: "Int", defaultValue: 20 }
    after: { type: "String" }
    filter: { type: "OrganizationFilter" }
  ) {
    organizations(first: $first, after: $after, filter: $filter)
      @connection(key: "OrganizationList_organizations", filters: ["filter"]) {
      totalCount
      edges {
        node {
          id
          ...OrganizationCard_organization
        }
      }
    }
  }
`;

export const organizationListQuery = graphql`
  query OrganizationListQuery {
    ...OrganizationList_query
  }
`;
