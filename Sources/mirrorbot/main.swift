print("mirrorbot: nothing here yet")
