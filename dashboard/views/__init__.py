"""One module per page's workflow. A page script in app_pages/ is two lines: import its view,
call `render()`; the view reads the sidebar's selection, asks dashboard.data for results and
draws them."""
