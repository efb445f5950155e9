module github.com/usbarmory/tamago

go 1.24
