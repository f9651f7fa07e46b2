from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
