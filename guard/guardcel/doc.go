// Package guardcel writes guard rules as CEL expressions
// (https://cel.dev), for rules that a configuration file holds, such as
// the gateway's routes, or that are easier read as one expression than as
// nested guard.All and guard.Any. It is a package of its own so that a
// service whose rules are Go functions does not link cel-go.
//
// An expression is compiled once, at start-up, into a guard.Rule; a
// syntax or type error fails then, never per request:
//
//	canDelete, err := guardcel.Expr(`'admin' in token.roles || resource.owner == token.sub`,
//		guardcel.WithResource(loadOrder))
//	mux := g.Mux()
//	mux.HandleFunc("DELETE /api/orders/{id}", deleteOrder, canDelete)
//
// It sees the verified claims as token, the request (method, path,
// headers without credentials, path wildcards) as request, and what
// [WithResource] loads as resource. Each evaluation is bounded by
// [MaxCost]; one that fails at run time refuses with 403 and logs why.
package guardcel
