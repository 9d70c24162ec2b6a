package edge

// about says what each example shows; placeholder until generated.
var about = map[string]struct{ shows, chapter string }{}
