from greeting import greet

print(greet("wheels"))
