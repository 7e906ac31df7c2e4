"""The cost ledger as an asset: a UTC day's summary of every call, with budgets, for the UI to plot."""

from datetime import date

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from tvdb.budgets import cost_report, service_budgets
from tvdb_resources.ledger import CostLedgerResource

from ..partitions import ledger_days


def _money_table(report: dict) -> str:
    lines = ["| service | spent | reserved | limit | remaining | shadow (mock at list price) |", "|---|---|---|---|---|---|"]
    for service in report["daily_limits"]:
        lines.append(
            f"| {service} | ${report['daily_usage'][service]:.4f} | ${report['reserved'][service]:.4f} "
            f"| ${report['daily_limits'][service]:.2f} | ${report['remaining_budget'][service]:.4f} "
            f"| ${report['shadow_usage'][service]:.6f} |"
        )
    return "\n".join(lines)


@asset(partitions_def=ledger_days, group_name="costs", kinds={"sql"})
def cost_ledger(context: AssetExecutionContext, ledger: CostLedgerResource) -> MaterializeResult:
    """Reads ``cost_tracking`` for the partition's UTC day: calls, spend, reservations, shadow cost, fallbacks."""
    book = ledger.ledger()
    usage = book.day_usage(date.fromisoformat(context.partition_key))
    report = cost_report(usage, service_budgets(ledger.database.sessions()))
    metadata = {
        "calls": MetadataValue.int(sum(u.calls for u in usage.services.values())),
        "tokens": MetadataValue.int(usage.service("openai").units),
        "credits": MetadataValue.int(usage.service("llamaparse").units),
        "fallbacks": MetadataValue.int(sum(u.fallbacks for u in usage.services.values())),
        "cost_usd": MetadataValue.float(float(report["daily_usage"]["total"])),
        "shadow_cost_usd": MetadataValue.float(float(report["shadow_usage"]["total"])),
        "remaining_budget_usd": MetadataValue.float(float(report["remaining_budget"]["total"])),
        "budget": MetadataValue.md(_money_table(report)),
    }
    return MaterializeResult(metadata=metadata)
