from django.apps import AppConfig


class ScannerConfig(AppConfig):
    name = "scanner"
    verbose_name = "Scanner"

    def ready(self) -> None:
        from scanner.stream import signals

        signals.connect()  # subscription saves/deletes announce watch-set changes to the stream consumer
