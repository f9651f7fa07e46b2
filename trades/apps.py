from django.apps import AppConfig


class TradesConfig(AppConfig):
    name = "trades"
    verbose_name = "Track record"

    def ready(self) -> None:
        from trades import service

        service.connect()  # opens, marks and closes paper trades from every stored scan
