"""Console URLs: filled by the page that owns them."""

urlpatterns: list = []
