from django.conf import settings
from django.contrib import admin
from django.urls import include, path

# An operator must never take simulated prices for the market's.
admin.site.site_header = " · ".join(filter(None, ["Forward Factor", settings.SIMULATED_MARKET_LABEL]))
admin.site.site_title = "Forward Factor admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("alerts.urls")),
]
