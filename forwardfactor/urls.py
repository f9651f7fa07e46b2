from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Forward Factor"
admin.site.site_title = "Forward Factor admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("alerts.urls")),
    path("", include("web.urls")),
]
