-- wrk script: the same GraphQL query as a POST on every request (tests/load/graphql.sh), as a client's page would send it.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"operationName":"ProductPage","variables":{"id":"42","currency":"EUR"},"query":"query ProductPage($id: ID!, $currency: Currency = EUR) { product(id: $id) { __typename id name description price(currency: $currency) { amount currency } images(first: 4) { url width height alt } reviews(first: 3, orderBy: { field: CREATED_AT, direction: DESC }) { id rating text author { id name } } } }"}'
