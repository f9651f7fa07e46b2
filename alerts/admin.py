"""The operator's view of messages and alerts: a record of what was sent, viewable but not edited by hand.
Two state changes of a message are offered as actions (resend failed, cancel held); the outbox does them
with conditional UPDATEs."""

from django.contrib import admin

from alerts import outbox
from alerts.models import Alert, Message
from alerts.tasks import enqueue_message_batches
from forwardfactor.admin_tasks import runs_in_request
from scanner.admin import ReadOnlyRecordAdmin, new_york_time, rounded


class AlertInline(admin.TabularInline):
    model = Alert
    fields = ("pair", "structure", "front_expiry", "back_expiry", "ff", "ff_judged")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyRecordAdmin):
    list_display = ("ticker", "user", "kind", "status", "created", "sent", "attempts")
    list_filter = ("status", "kind", "trading_day")
    search_fields = ("ticker", "user__email", "message_id")
    date_hierarchy = "created_at"
    raw_id_fields = ("user", "scan")
    list_select_related = ("user",)
    inlines = (AlertInline,)
    actions = ("resend_failed", "cancel_held")

    @admin.display(description="created (New York)", ordering="created_at")
    def created(self, message: Message) -> str | None:
        return new_york_time(message.created_at)

    @admin.display(description="sent (New York)", ordering="sent_at")
    def sent(self, message: Message) -> str | None:
        return new_york_time(message.sent_at)

    def has_state_permission(self, request) -> bool:
        # The rows are read-only in the admin, but moving a message along its states is a change of it.
        return request.user.has_perm("alerts.change_message")

    @admin.action(description="Resend the selected failed messages", permissions=["state"])
    def resend_failed(self, request, queryset) -> None:
        pending = outbox.retry_failed(list(queryset.values_list("pk", flat=True)))
        enqueue_message_batches(pending, again=True)
        if runs_in_request():
            sent = Message.objects.filter(pk__in=pending, status=Message.Status.SENT).count()
            self.message_user(request, f"Sent {len(pending)} failed message(s) again: {sent} went out.")
        else:
            self.message_user(request, f"Queued {len(pending)} failed message(s) to send again.")

    @admin.action(description="Cancel the selected held messages", permissions=["state"])
    def cancel_held(self, request, queryset) -> None:
        cancelled = outbox.cancel_held(list(queryset.values_list("pk", flat=True)), "cancelled by an operator")
        self.message_user(request, f"Cancelled {cancelled} held message(s).")


@admin.register(Alert)
class AlertAdmin(ReadOnlyRecordAdmin):
    list_display = ("ticker", "user", "kind", "delivery", "pair", "structure", "ff_rounded", "judged", "created")
    list_filter = ("message__status", "kind", "structure", "trading_day")
    search_fields = ("ticker", "user__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("user", "signal", "message")
    list_select_related = ("user", "message")

    @admin.display(description="FF", ordering="ff")
    def ff_rounded(self, alert: Alert) -> str:
        return rounded(alert.ff, 3)

    @admin.display(description="judged FF", ordering="ff_judged")
    def judged(self, alert: Alert) -> str:
        return rounded(alert.ff_judged, 3)

    @admin.display(description="delivery", ordering="message__status")
    def delivery(self, alert: Alert) -> str:
        return alert.message.status

    @admin.display(description="created (New York)", ordering="created_at")
    def created(self, alert: Alert) -> str | None:
        return new_york_time(alert.created_at)
