from django.contrib import admin

from discovery.models import UniverseExclusion, UniverseMember, UniverseSnapshot
from forwardfactor.admin_tasks import ran_or_queued, runs_in_request


class UniverseMemberInline(admin.TabularInline):
    model = UniverseMember
    extra = 0
    fields = ("rank", "ticker", "volume", "dollar_volume")
    readonly_fields = fields
    can_delete = False


@admin.register(UniverseSnapshot)
class UniverseSnapshotAdmin(admin.ModelAdmin):
    list_display = ("session_date", "created_at", "member_count")
    date_hierarchy = "session_date"
    inlines = (UniverseMemberInline,)
    actions = ("rebuild_sessions",)
    # Adds a "Refresh now" button (POST to refresh_now_view) above the list.
    change_list_template = "admin/discovery/universesnapshot/change_list.html"

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_members=Count("members"))

    @admin.display(description="members", ordering="_members")
    def member_count(self, snapshot: UniverseSnapshot) -> int:
        return snapshot._members

    def get_readonly_fields(self, request, obj=None):
        # A stored universe is a record of what a refresh found; rebuild it rather than edit it.
        return ("session_date", "created_at", "parameters") if obj else ()

    def get_urls(self):
        from django.urls import path

        refresh = path(
            "refresh-now/",
            self.admin_site.admin_view(self.refresh_now_view),
            name="discovery_universesnapshot_refresh_now",
        )
        return [refresh, *super().get_urls()]

    def refresh_now_view(self, request):
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseNotAllowed, HttpResponseRedirect
        from django.urls import reverse

        from discovery.tasks import refresh_universe

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        result = refresh_universe.delay()
        if runs_in_request():
            self.message_user(request, result.get()["message"])
        else:
            self.message_user(request, "Universe refresh queued; reload this page in a minute.")
        return HttpResponseRedirect(reverse("admin:discovery_universesnapshot_changelist"))

    @admin.action(description="Rebuild the selected sessions' universes now", permissions=["change"])
    def rebuild_sessions(self, request, queryset) -> None:
        from discovery.tasks import refresh_universe

        sessions = list(queryset.values_list("session_date", flat=True))
        for session_date in sessions:
            refresh_universe.delay(day=session_date.isoformat())
        self.message_user(
            request,
            ran_or_queued(
                f"Rebuilt the universe of {len(sessions)} session(s).", f"Rebuild of {len(sessions)} session(s) queued."
            ),
        )


@admin.register(UniverseMember)
class UniverseMemberAdmin(admin.ModelAdmin):
    list_display = ("ticker", "rank", "snapshot", "volume", "dollar_volume")
    list_filter = ("snapshot__session_date",)
    search_fields = ("ticker",)
    list_select_related = ("snapshot",)


@admin.register(UniverseExclusion)
class UniverseExclusionAdmin(admin.ModelAdmin):
    list_display = ("ticker", "reason", "created_at")
    search_fields = ("ticker", "reason")
