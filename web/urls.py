from django.urls import path

from web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("signals/", views.signals, name="signals"),
    path("signals/table/", views.signals_table, name="signals_table"),
    path("signals/export.csv", views.signals_csv, name="signals_csv"),
    path("tickers/<str:symbol>/", views.ticker, name="ticker"),
    path("tickers/<str:symbol>/follow/", views.follow_ticker, name="ticker_follow"),
    path("me/tickers/", views.tickers, name="tickers"),
    path("me/tickers/<int:pk>/unfollow/", views.unfollow, name="unfollow"),
    path("me/settings/", views.alert_settings, name="settings"),
    path("me/alerts/", views.alerts, name="alerts"),
    path("track-record/", views.track_record, name="track_record"),
    path("track-record/trades.csv", views.track_record_csv, name="track_record_csv"),
]
