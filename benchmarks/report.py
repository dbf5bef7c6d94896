"""Summaries, ratios, the text table, the JSON file and the PNG plot."""

from __future__ import annotations

import statistics
import textwrap
from pathlib import Path
from typing import Any

__all__ = ["GOALS", "render_text", "summarise", "write_plot"]

GOALS = {
    "stateless_rps": 15_000.0,
    "stateless_vs_aiokafka": 0.5,
    "p99_ms_at_2000": 20.0,
    "idle_rss_mb": 120.0,
    "reactor_rps": 8_000.0,
    "overload_rss_growth_mb": 50.0,
    "exactly_once_cost": 0.2,
    "reactor_latency_vs_stateless": 3.0,
    "steady_answered_share": 0.99,
    "steady_cpu_vs_backlog": 1.3,
}


BASES = ("raw_aiokafka", "raw_faust", "raw_checked")
"""The contenders the others are compared with: raw aiokafka and raw Faust (the issue's), and
raw aiokafka doing PacketFlow's required work by hand (:mod:`benchmarks.raw_checked`)."""


def _ratio(value: float) -> str:
    """``0.31x``; small ratios keep two significant digits (``0.0045x``, not ``0.00x``)."""
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over rounds of each figure (medians keep p50 <= p95 <= p99 <= max)."""

    def med(values: list[float]) -> float:
        return float(statistics.median(values))

    latency: dict[str, dict[str, float]] = {}
    for i, first in enumerate(rounds[0]["latency"]):
        runs = [r["latency"][i] for r in rounds]
        ms = {k: med([run["ms"][k] for run in runs]) for k in ("p50", "p95", "p99", "max", "mean")}
        sent = sum(run["sent"] for run in runs)
        ms["answered_share"] = sum(run["answered"] for run in runs) / sent
        latency[f"{first['offered_rps']:g}"] = ms
    tps = [r["throughput"] for r in rounds]
    return {
        "rps": med([t["rps"] for t in tps]),
        "cpu_us_per_request": med([t["cpu_us_per_request"] for t in tps]),
        "cpu_utilisation": med([t["cpu_utilisation"] for t in tps]),
        "latency_ms": latency,
        "idle_rss_mb": med([r["idle_rss_mb"] for r in rounds]),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rounds),
        "ready_s": med([r["ready_s"] for r in rounds]),
        "rounds": len(rounds),
    }


def ratios(contenders: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Throughput and p99 of each contender relative to each of the :data:`BASES`."""
    out: dict[str, dict[str, float]] = {}
    ok = {k: v["summary"] for k, v in contenders.items() if v.get("status") == "ok"}
    for name, s in ok.items():
        row: dict[str, float] = {}
        for base in BASES:
            if base in ok:
                b = ok[base]
                rate = next(iter(s["latency_ms"]))
                pairs = {
                    "rps": (s["rps"], b["rps"]),
                    "p99": (s["latency_ms"][rate]["p99"], b["latency_ms"][rate]["p99"]),
                    "cpu_per_request": (s["cpu_us_per_request"], b["cpu_us_per_request"]),
                }
                for figure, (mine, theirs) in pairs.items():
                    if theirs > 0:  # 0: below the measurement's resolution, no ratio
                        row[f"{figure}_vs_{base}"] = mine / theirs
        out[name] = row
    return out


def goals(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The issue's goals: (goal, measured, met)."""
    pf = results["contenders"].get("packetflow_stateless", {})
    if pf.get("status") != "ok":
        return []
    s = pf["summary"]
    vs = results["ratios"]["packetflow_stateless"].get("rps_vs_raw_aiokafka", 0.0)
    p99 = s["latency_ms"].get("2000", {}).get("p99")
    rows = [
        ("stateless >= 15,000 req/s", f"{s['rps']:,.0f} req/s", s["rps"] >= GOALS["stateless_rps"]),
        ("stateless >= 0.5x raw aiokafka", f"{vs:.2f}x", vs >= GOALS["stateless_vs_aiokafka"]),
        (
            "idle RSS < 120 MB",
            f"{s['idle_rss_mb']:.0f} MB",
            s["idle_rss_mb"] < GOALS["idle_rss_mb"],
        ),
    ]
    if p99 is not None:
        rows.insert(
            2, ("p99 < 20 ms at 2,000 req/s", f"{p99:,.1f} ms", p99 < GOALS["p99_ms_at_2000"])
        )
    for label, idle in results.get("idle", {}).items():
        if "idle_rss_mb" in idle:
            rss = idle["idle_rss_mb"]
            rows.append(
                (f"idle RSS < 120 MB, {label}", f"{rss:.0f} MB", rss < GOALS["idle_rss_mb"])
            )
    over = results.get("overload", {})
    if over.get("status") == "ok":
        growth = over["rss_growth_mb"]
        rows.append(
            (
                f"RSS +< 50 MB at {over['factor']:g}x load",
                f"+{growth:.0f} MB",
                growth < GOALS["overload_rss_growth_mb"],
            )
        )
    reactor = results["contenders"].get("packetflow_reactor", {})
    if reactor.get("status") == "ok":
        rps = reactor["summary"]["rps"]
        rows.insert(1, ("reactor >= 8,000 req/s", f"{rps:,.0f} req/s", rps >= GOALS["reactor_rps"]))
    return [
        *rows,
        *_reactor_latency(results["contenders"]),
        *_steady_goals(results),
        *_exactly_once_costs(results["contenders"]),
    ]


def _reactor_latency(contenders: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """A reactor call's p50 and p99 beside a stateless call's, at the lowest rate of the run."""
    stateless, reactor = (contenders.get(f"packetflow_{k}", {}) for k in ("stateless", "reactor"))
    if stateless.get("status") != "ok" or reactor.get("status") != "ok":
        return []
    s, r = stateless["summary"]["latency_ms"], reactor["summary"]["latency_ms"]
    common = sorted(set(s) & set(r), key=float)
    if not common:
        return []
    rate, limit = common[0], GOALS["reactor_latency_vs_stateless"]
    rows = []
    for q in ("p50", "p99"):
        ratio = r[rate][q] / max(s[rate][q], 1e-9)
        measured = f"{r[rate][q]:.1f}/{s[rate][q]:.1f} ms, {ratio:.1f}x"
        rows.append((f"reactor {q} <= 3x stateless @{rate}/s", measured, ratio <= limit))
    return rows


def _steady_goals(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Under a steady offer (a share of its backlog rate): answered in full, at a backlog's CPU."""
    rows = []
    for kind, run in results.get("steady", {}).items():
        backlog = results["contenders"].get(kind, {})
        if run.get("status") != "ok" or backlog.get("status") != "ok":
            continue
        name = kind.removeprefix("packetflow_")
        share = run["answered_rps"] / run["offered_rps"]
        rows.append(
            (
                f"{name}: steady {run['offered_rps']:,.0f}/s answered >= 99 %",
                f"{share:.1%}",
                share >= GOALS["steady_answered_share"],
            )
        )
        cpu, cpu_backlog = run.get("cpu_us_per_request"), backlog["summary"]["cpu_us_per_request"]
        if cpu and cpu_backlog:
            ratio = cpu / cpu_backlog
            rows.append(
                (
                    f"{name}: steady CPU/req <= 1.3x backlog's",
                    f"{cpu:,.0f}/{cpu_backlog:,.0f} us, {ratio:.2f}x",
                    ratio <= GOALS["steady_cpu_vs_backlog"],
                )
            )
    return rows


def _exactly_once_costs(contenders: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Exactly once beside at least once, same path, same run: throughput and p50 ratios."""
    rows = []
    for path in ("stateless", "reactor"):
        alo = contenders.get(f"packetflow_{path}", {})
        eos = contenders.get(f"packetflow_{path}_eos", {})
        if alo.get("status") != "ok" or eos.get("status") != "ok":
            continue
        a, e = alo["summary"], eos["summary"]
        rate = next(iter(a["latency_ms"]))
        share = e["rps"] / a["rps"] if a["rps"] else 0.0
        p50 = e["latency_ms"][rate]["p50"] / max(a["latency_ms"][rate]["p50"], 1e-9)
        measured = f"{_ratio(share)} req/s, {_ratio(p50)} p50 @{rate}/s"
        met = share >= 1 - GOALS["exactly_once_cost"]
        rows.append((f"{path}: exactly once costs < 20 % of req/s", measured, met))
    return rows


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    sep = "-+-".join("-" * w for w in widths)
    body = [
        " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join([line, sep, *body])


def render_text(results: dict[str, Any]) -> str:
    """The end-of-run report: contenders, ratios, broker limits, goals, in-process costs."""
    contenders = results["contenders"]
    rates = [f"{r:g}" for r in results["plan"]["rates"]]
    main = rates[0]
    headers = ["contender", "req/s", "x aiokafka", "x Faust", "x required"]
    headers.append(f"p50/p95/p99/max ms @{main}/s")
    headers += [f"p99 @{r}/s" for r in rates[1:]] + ["CPU us/req", "idle RSS", "peak RSS"]
    rows = []
    for name, c in contenders.items():
        if c.get("status") != "ok":
            rows.append(
                [c["label"], c.get("reason", c.get("status", "")), *[""] * (len(headers) - 2)]
            )
            continue
        s, r = c["summary"], results["ratios"][name]
        lat = s["latency_ms"][main]
        row = [c["label"], f"{s['rps']:,.0f}"]
        row += [f"{r.get(f'rps_vs_{base}', 0):.2f}" for base in BASES]
        row.append("/".join(f"{lat[k]:,.1f}" for k in ("p50", "p95", "p99", "max")) + _sat(s, main))
        row += [f"{s['latency_ms'][x]['p99']:,.1f}{_sat(s, x)}" for x in rates[1:]]
        row += [f"{s['cpu_us_per_request']:,.0f}", f"{s['idle_rss_mb']:.0f} MB"]
        row.append(f"{s['peak_rss_mb']:.0f} MB")
        rows.append(row)
    out = [_table(headers, rows)]
    out.append("* offered rate above the sustained throughput: the latency is mostly queueing\n")
    for name, r in results["ratios"].items():
        if name in ("raw_aiokafka",):
            continue
        label = contenders[name]["label"]
        for base in BASES if _packetflow(name) else BASES[:2]:
            if name != base and f"rps_vs_{base}" in r:
                cpu, p99 = r.get(f"cpu_per_request_vs_{base}"), r.get(f"p99_vs_{base}")
                out.append(
                    f"{label} vs {contenders[base]['label']}: throughput "
                    f"{_ratio(r[f'rps_vs_{base}'])}, CPU per request "
                    f"{_ratio(cpu) if cpu is not None else 'n/a'}, "
                    f"p99 @{main}/s {_ratio(p99) if p99 is not None else 'n/a'}"
                )
    out.append("")
    broker = results.get("broker", {})
    if broker.get("status") == "ok":
        for tool in ("producer", "consumer"):
            b = broker[tool]
            out.append(
                f"Kafka {tool.title()}Performance ({broker['record_size']} B records): "
                f"{b['records_per_s']:,.0f} records/s, {b['mb_per_s']:.1f} MB/s"
            )
    else:
        out.append(f"Kafka perf tools: {broker.get('reason', broker.get('status'))}")
    out += ["", *_overload_lines(results.get("overload", {}))]
    out += [*_steady_lines(results.get("steady", {})), ""]
    for goal, measured, met in goals(results):
        out.append(f"goal {goal:<44} {measured:>14}  {'met' if met else 'NOT met'}")
    stages = results.get("stages", {})
    if stages:
        out += ["", f"PacketFlow in-process, us per record ({stages.get('records')} records):"]
        out += [
            f"  {k:<52} {_num(v)}"
            for k, v in stages.items()
            if k != "records" and not isinstance(v, dict)
        ]
        shares = stages.get("shares of Processor.handle (cProfile)", {})
        if shares and "error" not in shares:
            out.append("  shares of Processor.handle's time (cProfile):")
            out += [f"    {k:<50} {v:6.1%}" for k, v in shares.items()]
    enc = results.get("encoding", {})
    if enc:
        out += [
            "",
            "JSON vs Avro, us per message (bytes: "
            + ", ".join(f"{k} {v:.0f}" for k, v in enc["bytes"].items())
            + "):",
        ]
        out += [f"  {k:<52} {_num(v)}" for k, v in enc["us"].items()]
    reg = results.get("registry", {})
    if reg:
        out += ["", f"Registry with {reg['capabilities']} capabilities:"]
        out += [f"  {k:<52} {_num(v)}" for k, v in reg.items() if k != "capabilities"]
    state = results.get("state", {})
    if state:
        out += ["", "Reactor state step on RocksDB, us per intent (after as many to fill logs):"]
        out += [f"  {k:<52} {_num(v)}" for k, v in state.items() if k != "intents"]
    return "\n".join(out)


def _steady_lines(steady: dict[str, Any]) -> list[str]:
    lines = []
    for kind, run in steady.items():
        if run.get("status") != "ok":
            lines.append(f"steady {kind}: {run.get('reason', run.get('status'))}")
            continue
        cpu = run.get("cpu_us_per_request")
        lines.append(
            f"steady {kind}: offered {run['offered_rps']:,.0f} req/s for {run['seconds']:.0f} s,"
            f" answered {run['answered_rps']:,.0f} req/s"
            + (f" ({cpu:,.0f} us CPU per request)" if cpu else "")
        )
    return lines


def _overload_lines(over: dict[str, Any]) -> list[str]:
    if not over:
        return []
    if over.get("status") != "ok":
        return [f"overload: {over.get('reason', over.get('status'))}"]
    return [
        f"overload: PacketFlow stateless offered {over['factor']:g} x {over['capacity_rps']:,.0f}"
        f" = {over['offered_rps']:,.0f} req/s for {over['seconds']:.0f} s (the load generator"
        f" reached {over['achieved_offer_rps']:,.0f}); answered {over['answered_rps']:,.0f} req/s,"
        f" lag at the end {over['lag_end']:,}; RSS {over['rss_start_mb']:.0f} MB ->"
        f" max {over['rss_max_mb']:.0f} MB (+{over['rss_growth_mb']:.0f} MB)"
    ]


def _packetflow(name: str) -> bool:
    """Whether contender ``name`` is PacketFlow's."""
    return name.startswith("packetflow")


def _sat(summary: dict[str, Any], rate: str) -> str:
    return "*" if summary["rps"] < float(rate) else ""


def _num(v: Any) -> str:
    return f"{v:,.2f}" if isinstance(v, int | float) else str(v)


def write_plot(results: dict[str, Any], path: Path) -> None:
    """Throughput, latency percentiles per offered rate, per-stage cost: one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = {k: v for k, v in results["contenders"].items() if v.get("status") == "ok"}
    labels = [textwrap.fill(v["label"], 16) for v in ok.values()]  # five fit side by side
    rates = [f"{r:g}" for r in results["plan"]["rates"]]
    fig, axes = plt.subplots(3, 2, figsize=(14, 14))
    ax1 = axes[0][0]
    rps = [v["summary"]["rps"] for v in ok.values()]
    bars = ax1.bar(labels, rps, color=["#888", "#5b8", "#bbb", "#36c", "#c63"][: len(rps)])
    cpu = [v["summary"]["cpu_us_per_request"] for v in ok.values()]
    tags = [f"{x:,.0f} req/s\n{c:,.0f} us CPU/req" for x, c in zip(rps, cpu, strict=True)]
    ax1.bar_label(bars, labels=tags)
    broker = results.get("broker", {})
    if broker.get("status") == "ok":
        for tool, style in (("producer", "--"), ("consumer", ":")):
            ax1.axhline(broker[tool]["records_per_s"], ls=style, c="k", lw=1)
            ax1.text(-0.4, broker[tool]["records_per_s"] * 1.1, f"Kafka {tool} perf", fontsize=8)
    ax1.axhline(GOALS["stateless_rps"], ls="-.", c="r", lw=1)
    ax1.text(-0.4, GOALS["stateless_rps"] * 1.1, "stateless goal", fontsize=8, color="r")
    ax1.set_yscale("log")
    ax1.set_title("sustained throughput, req/s (log)", fontsize=10)
    for ax, rate in zip((axes[0][1], axes[1][0]), rates, strict=False):
        keys = ("p50", "p95", "p99", "max")
        width = 0.8 / len(keys)
        for j, key in enumerate(keys):
            vals = [v["summary"]["latency_ms"][rate][key] for v in ok.values()]
            xs = [i + (j - 1.5) * width for i in range(len(vals))]
            ax.bar(xs, vals, width, label=key)
        ax.axhline(GOALS["p99_ms_at_2000"], ls="-.", c="r", lw=1, label="p99 goal (20 ms)")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yscale("log")
        ax.set_title(f"request->response latency at {rate} req/s offered, ms (log)", fontsize=10)
        ax.legend(fontsize=8)
    if len(rates) < 2:
        axes[1][0].axis("off")
    ax3 = axes[1][1]
    stages = {
        k: v
        for k, v in results.get("stages", {}).items()
        if isinstance(v, int | float) and k != "records"
    }
    ax3.barh([k.replace(" (", "\n(") for k in stages], list(stages.values()), color="#36c")
    ax3.invert_yaxis()
    ax3.tick_params(axis="y", labelsize=7)
    ax3.set_title("PacketFlow in-process cost, us per record", fontsize=10)
    _plot_overload(axes[2][0], results.get("overload", {}))
    axes[2][1].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_overload(ax: Any, over: dict[str, Any]) -> None:
    """RSS and lag over time while PacketFlow is offered a multiple of its capacity."""
    if over.get("status") != "ok" or not over.get("samples"):
        ax.axis("off")
        return
    t = [x["t_s"] for x in over["samples"]]
    ax.plot(t, [x["rss_mb"] for x in over["samples"]], c="#36c", label="worker RSS, MB")
    ax.axhline(over["rss_start_mb"] + GOALS["overload_rss_growth_mb"], ls="-.", c="r", lw=1)
    ax.set_ylim(0, max(over["rss_max_mb"], over["rss_start_mb"] + 60) * 1.1)
    ax.set_ylabel("RSS, MB (dash-dot: +50 MB goal)")
    lag = ax.twinx()
    lag.plot(t, [x["lag"] for x in over["samples"]], c="#b53", label="lag, requests")
    lag.set_ylabel("lag (sent - answered), requests")
    ax.set_xlabel("seconds")
    reached = over.get("achieved_offer_rps", over["offered_rps"]) / over["capacity_rps"]
    ax.set_title(
        f"PacketFlow stateless offered {over['factor']:g}x its throughput (the generator"
        f" reached {reached:.1f}x): RSS stays flat, lag grows on the broker",
        fontsize=9,
    )
