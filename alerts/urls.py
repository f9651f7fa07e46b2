from django.urls import path

from alerts import views

app_name = "alerts"
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("follow/<str:token>/", views.follow, name="follow"),
]
