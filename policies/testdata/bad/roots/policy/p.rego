package vigil.other

x := 1
