from django.urls import path

from web import my_trades, views

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
    path("me/trades/", my_trades.my_trades, name="my_trades"),
    path("me/trades/<int:pk>/", my_trades.my_trade, name="my_trade"),
    path("me/trades/<int:pk>/close/", my_trades.close_trade, name="close_trade"),
    # The emailed one-click links (alerts.links.placed_url / ignore_url): stable paths.
    path("trades/placed/<str:token>/", my_trades.placed_link, name="placed_link"),
    path("trades/ignore/<str:token>/", my_trades.ignore_link, name="ignore_link"),
]
