package acme.helpers

allow := true
