from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "discovery"
    verbose_name = "Discovery universe"

    def ready(self) -> None:
        from discovery.universe import StoredUniverse
        from scanner.universe_view import register_universe

        register_universe(StoredUniverse())  # the scanner's watch set and cold-scan prices read it
