package servicediscovery

import "github.com/berth/berth/internal/awsapi"

// paginate is a listing's page after token, at most limit long (nil: the
// listing's default of 100), and the next page's token.
func paginate[T any](items []T, key func(T) string, token *string, limit *int32) ([]T, *string, error) {
	n := int(awsapi.Deref(limit))
	if n == 0 {
		n = 100
	}
	page, next, ok := awsapi.PageByKey(items, key, awsapi.Deref(token), n)
	if !ok {
		return nil, nil, invalidInput("The NextToken %s is not valid.", awsapi.Deref(token)) // UNVERIFIED wording
	}
	return page, next, nil
}
