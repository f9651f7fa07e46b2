from django.apps import AppConfig


class TradesConfig(AppConfig):
    name = "trades"
    verbose_name = "Track record"

    def ready(self) -> None:
        from scanner.retention import release_on_prune
        from trades import service
        from trades.models import Mark, PlacedMark

        service.connect()  # opens, marks and closes paper trades from every stored scan
        # A mark keeps its own quotes and figures: the scan that quoted it may be pruned (the link becomes
        # empty). The trades' opening signals are kept, like every reference not released.
        release_on_prune(Mark, "scan")
        release_on_prune(PlacedMark, "scan")
