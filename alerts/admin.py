"""The operator's view of alerts: a record of what was sent, viewable but not edited by hand. Two state
changes are offered as actions (resend failed, cancel held); the outbox does them with conditional UPDATEs."""

from django.contrib import admin

from alerts import outbox
from alerts.models import Alert
from alerts.tasks import enqueue_alert_batches
from forwardfactor.admin_tasks import runs_in_request
from scanner.admin import ReadOnlyRecordAdmin, new_york_time, rounded


@admin.register(Alert)
class AlertAdmin(ReadOnlyRecordAdmin):
    list_display = ("ticker", "user", "kind", "status", "pair", "structure", "ff_rounded", "created", "sent")
    list_filter = ("status", "kind", "structure", "trading_day")
    search_fields = ("ticker", "user__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("user", "signal")
    list_select_related = ("user",)
    actions = ("resend_failed", "cancel_held")

    @admin.display(description="FF", ordering="ff")
    def ff_rounded(self, alert: Alert) -> str:
        return rounded(alert.ff, 3)

    @admin.display(description="created (New York)", ordering="created_at")
    def created(self, alert: Alert) -> str | None:
        return new_york_time(alert.created_at)

    @admin.display(description="sent (New York)", ordering="sent_at")
    def sent(self, alert: Alert) -> str | None:
        return new_york_time(alert.sent_at)

    def has_state_permission(self, request) -> bool:
        # The rows are read-only in the admin, but moving an alert along its states is a change of it.
        return request.user.has_perm("alerts.change_alert")

    @admin.action(description="Resend the selected failed alerts", permissions=["state"])
    def resend_failed(self, request, queryset) -> None:
        pending = outbox.retry_failed(list(queryset.values_list("pk", flat=True)))
        enqueue_alert_batches(pending)
        if runs_in_request():
            sent = Alert.objects.filter(pk__in=pending, status=Alert.Status.SENT).count()
            self.message_user(request, f"Sent {len(pending)} failed alert(s) again: {sent} went out.")
        else:
            self.message_user(request, f"Queued {len(pending)} failed alert(s) to send again.")

    @admin.action(description="Cancel the selected held alerts", permissions=["state"])
    def cancel_held(self, request, queryset) -> None:
        cancelled = outbox.cancel_held(list(queryset.values_list("pk", flat=True)), "cancelled by an operator")
        self.message_user(request, f"Cancelled {cancelled} held alert(s).")
