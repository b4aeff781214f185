"""The app's own library, built into a wheel in the wheels stage."""


def greet(name: str) -> str:
    return f"Hello, {name}!"
