module github.com/alexellis/href-counter

go 1.22
