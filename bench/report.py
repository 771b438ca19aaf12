"""The results as Markdown, the issue's targets judged against them, and the README's results section."""

from pathlib import Path

README_BEGIN = "<!-- bench:results:begin -->"
README_END = "<!-- bench:results:end -->"

REST_SCENARIOS = ("rest_list_first", "rest_list_deep", "rest_detail")
GRAPHQL_SCENARIOS = ("graphql_strategy", "graphql_strategies", "graphql_organizations")
LIST_SCENARIOS = ("rest_list_first", "rest_list_deep")
WRITES = "rest_measurement_posts"
POSTGRAPHILES = ("postgraphile4", "postgraphile5")
REST_SHARE = 0.5
FLAT_WITHIN = 0.2
WRITES_PER_SECOND = 500
MODE_NAMES = {"cold": "cold (every answer computed)", "warm": "warm (production, response cache on)"}


def _rows(results: dict, scenario_id: str, mode: str | None = None) -> list[tuple[dict, dict]]:
    return [
        (scale, row)
        for scale in results["scales"]
        for row in scale["scenarios"]
        if row["id"] == scenario_id and mode in (None, row["mode"])
    ]


def _modes(results: dict) -> list[str]:
    present = {row["mode"] for scale in results["scales"] for row in scale["scenarios"]}
    return [mode for mode in MODE_NAMES if mode in present]


def _short(scale: dict) -> str:
    return f"{scale['orgs']:,}/{scale['strategies']}"


def _target(target: str, measured: str, met: bool | None) -> dict:
    return {"target": target, "measured": measured, "met": met}


def _rest_target(results: dict, mode: str) -> dict | None:
    rest = [pair for sid in REST_SCENARIOS for pair in _rows(results, sid, mode) if pair[1].get("ratio_rps")]
    if not rest:
        return None
    scale, worst = min(rest, key=lambda pair: pair[1]["ratio_rps"])
    measured = "; ".join(f"{row['id']} {_short(scale)}: {row['ratio_rps']:.2f}" for scale, row in rest)
    return _target(
        f"REST list and detail ≥ {REST_SHARE:.0%} of the Python limit's req/s, {mode}",
        f"lowest {worst['ratio_rps']:.2f} ({worst['id']}, {_short(scale)}) — {measured}",
        worst["ratio_rps"] >= REST_SHARE,
    )


def _faster_reference(pairs: list[tuple[dict, dict]]) -> list[tuple[dict, dict]]:
    """Of the rows comparing one scenario and mode to PostGraphile 4 and to 5, the one to the faster (req/s)."""
    fastest: dict[tuple, tuple[dict, dict]] = {}
    for scale, row in pairs:
        key = (scale["orgs"], scale["strategies"], row["id"], row["mode"])
        if key not in fastest or row["reference"]["rps"] > fastest[key][1]["reference"]["rps"]:
            fastest[key] = (scale, row)
    return list(fastest.values())


def _graphql_target(results: dict, mode: str) -> dict | None:
    graphql = [pair for sid in GRAPHQL_SCENARIOS for pair in _rows(results, sid, mode)]
    if not graphql:
        return None
    title = f"GraphQL ≥ the faster PostGraphile's (4 or 5) req/s, p99 no worse, {mode}"
    compared = _faster_reference(
        [(scale, row) for scale, row in graphql if row.get("ratio_rps") and row.get("ratio_p99")]
    )
    if not compared:
        problems = [results["references"][name].get("problem") for name in POSTGRAPHILES]
        problem = "; ".join(p for p in problems if p) or "PostGraphile did not start"
        return _target(title, f"not measured: {problem}", None)
    measured = "; ".join(
        f"{row['id']} {_short(scale)}: req/s ×{row['ratio_rps']:.2f}, p99 ×{row['ratio_p99']:.2f} "
        f"({row['reference_name']})"
        for scale, row in compared
    )
    return _target(title, measured, all(row["ratio_rps"] >= 1 and row["ratio_p99"] <= 1 for _, row in compared))


def _flat_target(smallest: dict, largest: dict, mode: str) -> dict:
    parts, flat = [], True
    for sid in LIST_SCENARIOS:
        small, large = (
            next(row for row in scale["scenarios"] if row["id"] == sid and row["mode"] == mode)["service"]["p50_ms"]
            for scale in (smallest, largest)
        )
        growth = large / small - 1 if small else 0.0
        flat = flat and growth <= FLAT_WITHIN
        parts.append(f"{sid} p50 {small:.1f} → {large:.1f} ms ({growth:+.0%})")
    return _target(
        f"List latency flat within {FLAT_WITHIN:.0%} from {smallest['orgs']:,} to {largest['orgs']:,} "
        f"organisations, {mode}",
        "; ".join(parts),
        flat,
    )


def targets(results: dict) -> list[dict]:
    """The issue's targets, each with what was measured and whether it was met (None: not measured)."""
    modes = _modes(results)
    judged = [t for mode in modes for t in (_rest_target(results, mode), _graphql_target(results, mode)) if t]
    scales = sorted(results["scales"], key=lambda scale: scale["orgs"])
    if len(scales) >= 2 and scales[0]["orgs"] < scales[-1]["orgs"]:
        judged += [_flat_target(scales[0], scales[-1], mode) for mode in modes]
        # A list of every strategy may cost one statement per level of the tree, never one per row.
        growing = sorted(
            {
                row["id"]
                for scale in scales
                for row in scale["scenarios"]
                if len({r["statements"] for _, r in _rows(results, row["id"], row["mode"])} - {None}) > 1
            }
        )
        judged.append(
            _target(
                "Statements per request do not grow with the data",
                "the same at every scale" if not growing else "they change in: " + ", ".join(growing),
                not growing,
            )
        )
        for mode in modes:
            peaks = [scale["exports"][mode]["peak_rss_mb"] for scale in scales]
            judged.append(
                _target(
                    f"CSV export streams: peak RSS flat within {FLAT_WITHIN:.0%} as the registry grows, {mode}",
                    " → ".join(f"{_short(scale)}: {peak:.0f} MB" for scale, peak in zip(scales, peaks, strict=True)),
                    max(peaks) <= min(peaks) * (1 + FLAT_WITHIN),
                )
            )
    writes = _rows(results, WRITES)
    if writes:
        lowest = min(row["service"]["rps"] for _, row in writes)
        errors = sum(row["service"]["errors"] for _, row in writes)
        measured = "; ".join(f"{_short(scale)}: {row['service']['rps']:.0f}/s" for scale, row in writes)
        judged.append(
            _target(
                f"≥ {WRITES_PER_SECOND} measurement posts/s from concurrent agency clients, no errors",
                f"{measured}; {errors} errors",
                lowest >= WRITES_PER_SECOND and errors == 0,
            )
        )
    return judged


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if 0 < abs(value) < 1:
        return f"{value:.2g}"  # two significant digits: 0.04 req/s is not 0.0
    return f"{value:,.{digits}f}"


def _met(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


def _scale_table(scale: dict) -> list[str]:
    rows = scale["rows"]
    lines = [
        f"### {scale['label']}",
        "",
        f"Built in {scale['build_seconds']} s (generator {scale['generate_seconds']} s): {rows['organization']:,} "
        f"organisations, {rows['membership']:,} memberships, {rows['strategy']} strateg"
        f"{'y' if rows['strategy'] == 1 else 'ies'}, {rows['indicator']:,} "
        f"indicators, {rows['task']:,} tasks, {rows['measurement']:,} actuals.",
        "",
        "| scenario | mode | req/s | p50 ms | p99 ms | first ms | errors | SQL/req | RSS MB | reference | ref req/s "
        "| ref p50 | ref p99 | ref SQL/req | ref RSS MB | req/s ratio | p99 ratio | same rows |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | --- |",
    ]
    previous = None
    for row in scale["scenarios"]:
        ours, theirs = row["service"], row["reference"] or {}
        answers = ours["requests"]
        name = row["title"] + (f" ({answers} answer{'s' * (answers != 1)})" if answers < 50 else "")
        service_cells = [
            _number(ours["rps"]),
            _number(ours["p50_ms"]),
            _number(ours["p99_ms"]),
            _number(ours.get("first_ms")),
            str(ours["errors"]),
            "—" if row["statements"] is None else str(row["statements"]),
            _number(ours["peak_rss_mb"], 0),
        ]
        if (row["id"], row["mode"]) == previous:
            # The same run of the service, compared with a second reference.
            service_cells = ["″"] * len(service_cells)
        previous = (row["id"], row["mode"])
        cells = [
            name,
            row["mode"],
            *service_cells,
            row.get("reference_name", "—"),
            _number(theirs.get("rps")),
            _number(theirs.get("p50_ms")),
            _number(theirs.get("p99_ms")),
            "—" if row.get("reference_statements") is None else str(row["reference_statements"]),
            _number(theirs.get("peak_rss_mb"), 0),
            _number(row.get("ratio_rps"), 2),
            _number(row.get("ratio_p99"), 2),
            {True: "yes", False: "**no**", None: "—"}[row.get("same_rows")],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for mode, export in scale["exports"].items():
        lines += [
            f"CSV export, {mode}: {export['rows']:,} rows, {export['megabytes']} MB in {export['seconds']} s "
            f"({export['statements']} SQL statements); service RSS {export['rss_before_mb']:.0f} MB before, "
            f"peak {export['peak_rss_mb']:.0f} MB during the download.",
            "",
        ]
    writes = next((row for row in scale["scenarios"] if row["id"] == WRITES), None)
    if writes:
        ours = writes["service"]
        lines += [
            f"Writes ({writes['mode']}): {ours['rps']:.0f} posts/s from {ours['connections']} clients of "
            f"{len(ours['agencies'])} agencies ({', '.join(ours['agencies'])}); "
            f"{ours['revisions_added']:,} revisions and {ours['audit_entries_added']:,} audit entries added.",
            "",
        ]
    for problem in (scale.get("problem"), *scale.get("reference_errors", {}).values()):
        if problem:
            lines += [f"Problem: `{problem[:300]}`", ""]
    return lines


def markdown(results: dict) -> str:
    machine, options, references = results["machine"], results["options"], results["references"]
    v4, v5 = references["postgraphile4"], references["postgraphile5"]
    if v4.get("problem"):
        v4_text = f"PostGraphile 4 not measured ({v4['problem']})"
    else:
        v4_text = f"PostGraphile {v4['version']} (`--dynamic-json`, default mutations off)"
    if v5.get("problem"):
        v5_text = f"PostGraphile 5 not measured ({v5['problem']})"
    else:
        v5_text = (
            f"PostGraphile {v5['version']} on Node {v5['node']} (Amber preset, default mutations off, every column "
            "orderable, as many processes of node's cluster module)"
        )
    cache = all(scale.get("response_cache") for scale in results["scales"])
    if cache:
        modes = (
            "*cold* rows are a service started with `RESPONSE_CACHE_MB=0`, every answer computed; *warm* rows are "
            "the production configuration after a warm-up, answers from its whole-response cache. SQL/req is "
            "counted in-process for one request of the production configuration: cold, a miss (the cache's "
            "version read included); warm, the same request again (not repeated when a miss takes over a second)"
        )
    else:
        modes = (
            "The service has no response cache: every answer is computed (*cold*). SQL/req is counted in-process "
            "for one request"
        )
    lines = [
        f"## Results of {results['date']}" + (" (smoke run)" if results["smoke"] else ""),
        "",
        f"Machine: {machine['nproc']} cores ({machine['cpu']}), {machine['memory_gb']} GB RAM, Linux "
        f"{machine['kernel']}, Python {machine['python']}, PostgreSQL {machine['postgresql']}, Node {machine['node']}.",
        "",
        f"Load: {results['load_generator']}, {options['duration_s']:g} s per run, {options['connections']} "
        f"connection(s) for reads (one for a request that takes over a second), {options['write_clients']} "
        f"write clients; {options['workers']} uvicorn worker(s) for the service and the Python limit, as many "
        f"PostGraphile processes. References: the Python limit ({references['python_limit']['json']}); "
        f"{v4_text}; {v5_text}. Whole run: {results['total_seconds']} s.",
        "",
        f"{modes}. req/s counts 2xx answers; p50/p99 come from the load generator; *first ms* is the scenario's "
        "first request since the server started; RSS is the peak (VmHWM) of the server's processes during the "
        "run; the ratios are the service's over the reference's. A GraphQL scenario is compared with both "
        "PostGraphiles, a row each (″: the same run of the service); its target is judged against the faster.",
        "",
    ]
    for scale in results["scales"]:
        lines += _scale_table(scale)
    lines += ["### Targets", "", "| target | measured | |", "| --- | --- | --- |"]
    lines += [f"| {t['target']} | {t['measured']} | {_met(t['met'])} |" for t in results["targets"]]
    return "\n".join(lines) + "\n"


def update_readme(readme: Path, table: str) -> None:
    """Replace the results section between the README's markers."""
    text = readme.read_text(encoding="utf-8")
    before, _, rest = text.partition(README_BEGIN)
    _, _, after = rest.partition(README_END)
    readme.write_text(f"{before}{README_BEGIN}\n{table}{README_END}{after}", encoding="utf-8")
