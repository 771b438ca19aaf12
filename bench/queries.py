"""The GraphQL documents of the benchmark: the service's, and PostGraphile 4's and 5's equivalent of each.

All ask for the same facts. PostGraphile publishes tables as they are, so the service's typed
fields have raw counterparts there: `LocalizedText` is the jsonb column, `value`/`pair` are the
`number`/`second` columns, `footnotes` are `footnoteNumbers`, and `actuals` (the current revision
of each year) are all revisions, which is the same rows as long as every value has one revision.

PostGraphile 5 (the Amber preset) names tables, relations and orderings as v4 does, except that a
row's global Node id is `id` and its `id` column is `rowId` (so `strategyByRowId`, `ROW_ID_ASC`); the service
names them so too, and both are asked for `rowId`, the row's own id, as PostGraphile 4 is for `id`.
"""

import re

SERVICE_STRATEGY_TREE = """
fragment StrategyTree on Strategy {
  rowId key title { lv en } periodStart periodEnd baselineYear
  footnotes { number text }
  swot { kind text { lv en } }
  areas {
    rowId number code kind title { lv en }
    goals {
      rowId number title { lv en } institutions { code }
      indicators {
        rowId code name { lv en } unit direction footnotes { number }
        baseline { year role text kind value pair institution { code } footnotes { number } }
        targets { year role text kind value pair institution { code } footnotes { number } }
        actuals { rowId year revision text value pair status institution { code } }
      }
    }
    actionDirections {
      rowId number title { lv en }
      tasks {
        number parentNumber text { lv } footnotes { number }
        institutionRoles { writtenAs role institution { code } }
      }
    }
  }
}
"""

SERVICE_STRATEGY = "query Strategy($id: ID!) { strategy(id: $id) { ...StrategyTree } }" + SERVICE_STRATEGY_TREE
# `first` is the number of strategies in the data, so the one page holds them all.
SERVICE_STRATEGIES = (
    "query Strategies($first: Int! = 20) { strategies(first: $first) { edges { node { ...StrategyTree } } } }"
    + SERVICE_STRATEGY_TREE
)

SERVICE_ORGANIZATIONS = """
query Organizations {
  organizations(first: 100) {
    edges {
      cursor
      node {
        rowId acronym name { lv en lt original } aliases kind established sources updatedAt
        memberships {
          rowId relation since until financialObligation events { date kind } note { lv } sources updatedAt
          member { rowId code country }
          coordinator { rowId code country }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

POSTGRAPHILE_STRATEGY_TREE = """
fragment StrategyTree on Strategy {
  id key title periodStart periodEnd baselineYear footnoteNumbers
  footnotesByStrategyId(orderBy: [NUMBER_ASC]) { nodes { number text } }
  swotFactorsByStrategyId(orderBy: [POSITION_ASC]) { nodes { kind text } }
  policyAreasByStrategyId(orderBy: [POSITION_ASC]) {
    nodes {
      id position code kind title
      goalsByAreaId(orderBy: [NUMBER_ASC]) {
        nodes {
          id number title
          goalInstitutionsByGoalId(orderBy: [POSITION_ASC]) { nodes { institutionByInstitutionId { code } } }
          indicatorsByGoalId(orderBy: [NUMBER_ASC]) {
            nodes {
              id code name unit direction footnoteNumbers
              indicatorValuesByIndicatorId(orderBy: [YEAR_ASC]) {
                nodes { year role text kind number second footnoteNumbers institutionByInstitutionId { code } }
              }
              measurementsByIndicatorId(orderBy: [YEAR_ASC, REVISION_ASC]) {
                nodes { id year revision text number second status institutionByInstitutionId { code } }
              }
            }
          }
        }
      }
      actionDirectionsByAreaId(orderBy: [NUMBER_ASC]) {
        nodes {
          id number title
          tasksByActionDirectionId(orderBy: [POSITION_ASC]) {
            nodes {
              number parentNumber text footnoteNumbers
              taskInstitutionsByTaskId(orderBy: [POSITION_ASC]) {
                nodes { writtenAs role institutionByInstitutionId { code } }
              }
            }
          }
        }
      }
    }
  }
}
"""

POSTGRAPHILE_STRATEGY = (
    "query Strategy($id: UUID!) { strategyById(id: $id) { ...StrategyTree } }" + POSTGRAPHILE_STRATEGY_TREE
)
POSTGRAPHILE_STRATEGIES = (
    "query Strategies { allStrategies(orderBy: [PERIOD_START_ASC, KEY_ASC]) { nodes { ...StrategyTree } } }"
    + POSTGRAPHILE_STRATEGY_TREE
)

POSTGRAPHILE_ORGANIZATIONS = """
query Organizations {
  allOrganizations(first: 100, orderBy: [SORT_KEY_ASC, ID_ASC]) {
    edges {
      cursor
      node {
        id acronym name aliases kind established sources updatedAt
        membershipsByOrganizationId(orderBy: [RELATION_ASC, SINCE_ASC, ID_ASC]) {
          nodes {
            id relation since until financialObligation events note sources updatedAt
            institutionByMemberId { id code country }
            institutionByCoordinatorId { id code country }
          }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _as_postgraphile5(query: str) -> str:
    """PostGraphile 5 names things as 4 does, except that `id` is the global Node id and a table's `id` column is
    `rowId` (so `strategyByRowId`, `ROW_ID_ASC`): the same queries, renamed."""
    renamed = re.sub(r"(?<![$\w])id\b", "rowId", query)
    return re.sub(r"\bID_ASC\b", "ROW_ID_ASC", renamed.replace("ById(", "ByRowId("))


POSTGRAPHILE5_STRATEGY = _as_postgraphile5(POSTGRAPHILE_STRATEGY)
POSTGRAPHILE5_STRATEGIES = _as_postgraphile5(POSTGRAPHILE_STRATEGIES)
POSTGRAPHILE5_ORGANIZATIONS = _as_postgraphile5(POSTGRAPHILE_ORGANIZATIONS)


def service_tree_counts(strategies: list[dict]) -> dict:
    """What a tree holds, to check the service and PostGraphile answered with the same rows."""
    indicators = [i for s in strategies for a in s["areas"] for g in a["goals"] for i in g["indicators"]]
    return {
        "strategies": len(strategies),
        "indicators": sorted(i["rowId"] for i in indicators),
        "values": sum(len(i["baseline"]) + len(i["targets"]) for i in indicators),
        "actuals": sum(len(i["actuals"]) for i in indicators),
        "tasks": sum(len(d["tasks"]) for s in strategies for a in s["areas"] for d in a["actionDirections"]),
    }


def postgraphile_tree_counts(strategies: list[dict], id_field: str = "id") -> dict:
    """The same for PostGraphile's answer; `id_field` is the rows' id column (`rowId` in PostGraphile 5)."""
    areas = [a for s in strategies for a in s["policyAreasByStrategyId"]["nodes"]]
    indicators = [i for a in areas for g in a["goalsByAreaId"]["nodes"] for i in g["indicatorsByGoalId"]["nodes"]]
    directions = [d for a in areas for d in a["actionDirectionsByAreaId"]["nodes"]]
    return {
        "strategies": len(strategies),
        "indicators": sorted(i[id_field] for i in indicators),
        "values": sum(len(i["indicatorValuesByIndicatorId"]["nodes"]) for i in indicators),
        "actuals": sum(len(i["measurementsByIndicatorId"]["nodes"]) for i in indicators),
        "tasks": sum(len(d["tasksByActionDirectionId"]["nodes"]) for d in directions),
    }


def service_page_counts(data: dict) -> list[tuple[str, int]]:
    edges = data["organizations"]["edges"]
    return [(e["node"]["rowId"], len(e["node"]["memberships"])) for e in edges]


def postgraphile_page_counts(data: dict, id_field: str = "id") -> list[tuple[str, int]]:
    edges = data["allOrganizations"]["edges"]
    return [(e["node"][id_field], len(e["node"]["membershipsByOrganizationId"]["nodes"])) for e in edges]
