"""The trading module: compiled strategies, account bindings, decisions and their audit."""
