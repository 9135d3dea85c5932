"""One module per page of the app, each with a `render()` function; `navigation.REGISTRY` lists them."""
