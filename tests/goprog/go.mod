module example.com/imgtool-testprog

go 1.26.0

require github.com/usbarmory/tamago v1.26.0
